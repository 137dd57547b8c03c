//go:build unix && !linux

package localpg

import "syscall"

// sysProcAttr returns the attributes of every child process. Outside Linux
// there is no parent death signal: Stop must be called.
func sysProcAttr(a account) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: a.credential(),
	}
}
