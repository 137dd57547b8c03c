//go:build unix

package localpg

import "syscall"

// sysProcAttr returns the attributes of every child process: its own process
// group, so that a Ctrl-C in the terminal reaches the parent, which then
// stops the server in order. The parent death signal is childproc's.
func sysProcAttr(a account) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: a.credential(),
	}
}
