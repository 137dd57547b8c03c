package childproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Wrap returns a program to run in place of the program at path, for children
// that code outside this package forks (envtest's etcd and kube-apiserver)
// without a parent death signal: a script in dir, named like path, that
// execs path through util-linux's setpriv --pdeathsig. The child keeps its
// process id, arguments and signals. Fork it on a Parent thread. When
// setpriv is not installed Wrap returns path itself and ok false: the child
// then outlives a killed parent.
func Wrap(dir, path string, sig syscall.Signal) (wrapped string, ok bool, err error) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		return path, false, nil
	}
	name := signalName(sig)
	if name == "" {
		return "", false, fmt.Errorf("no setpriv name for signal %d", sig)
	}
	script := "#!/bin/sh\nexec " + quote(setpriv) + " --pdeathsig " + name + " -- " + quote(path) + " \"$@\"\n"
	wrapped = filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(wrapped, []byte(script), 0o755); err != nil {
		return "", false, fmt.Errorf("writing the wrapper of %s: %w", path, err)
	}
	return wrapped, true, nil
}

// signalName returns setpriv's name for sig, the signals a child is asked to
// die by.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGQUIT:
		return "QUIT"
	}
	return ""
}

// quote quotes s for the shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
