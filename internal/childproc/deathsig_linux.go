package childproc

import (
	"os/exec"
	"syscall"
)

// setDeathSignal asks the kernel to send sig to the child when its parent
// thread ends.
func setDeathSignal(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
}
