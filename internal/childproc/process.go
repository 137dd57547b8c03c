package childproc

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a started child process.
type Process struct {
	// Cmd is the started command; Cmd.Process is set.
	Cmd *exec.Cmd
	// done is closed once the child has exited and waitErr is set.
	done    chan struct{}
	waitErr error
}

// Start starts cmd so that it receives deathSignal when this process dies
// (Linux only), and waits for it in the background: Done, Exited and Err
// report its end. SysProcAttr fields cmd already sets are kept.
func Start(cmd *exec.Cmd, deathSignal syscall.Signal) (*Process, error) {
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	setDeathSignal(cmd, deathSignal)
	started := make(chan error, 1)
	go onOwnThread(func() {
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.done)
	})
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// Pid returns the child's process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the child has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the child has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns the child's exit error (nil for a zero exit status) once Done
// is closed.
func (p *Process) Err() error {
	<-p.done
	return p.waitErr
}

// Stop sends sig and waits for the child to exit, killing it when it has not
// within grace. It returns at once when the child has already exited.
func (p *Process) Stop(sig os.Signal, grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// Kill kills the child — a crash: nothing is released or flushed — and waits
// for it to exit. A child that had already exited is an error
// (os.ErrProcessDone): the caller meant to crash a running process.
func (p *Process) Kill() error {
	if err := p.Cmd.Process.Kill(); err != nil {
		return err
	}
	<-p.done
	return nil
}
