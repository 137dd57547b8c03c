//go:build !linux

package childproc

import "syscall"

// Wrap returns path itself and ok false: there is no parent death signal here.
func Wrap(dir, path string, sig syscall.Signal) (wrapped string, ok bool, err error) {
	return path, false, nil
}
