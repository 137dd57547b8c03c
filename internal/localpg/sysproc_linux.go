package localpg

import "syscall"

// sysProcAttr returns the attributes of every child process: its own process
// group (a Ctrl-C in the terminal reaches the parent, which then stops the
// server in order) and a parent death signal, so a killed parent leaves no
// server behind. SIGINT is PostgreSQL's fast shutdown: unlike SIGTERM's smart
// shutdown it does not wait for other clients (a developer's psql) to leave.
func sysProcAttr(a account) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGINT,
		Credential: a.credential(),
	}
}
