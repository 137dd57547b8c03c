//go:build !linux

package childproc

import (
	"os/exec"
	"syscall"
)

// setDeathSignal does nothing: there is no parent death signal here.
func setDeathSignal(*exec.Cmd, syscall.Signal) {}
