package localpg

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
)

// process is one running postgres child.
type process struct {
	cmd  *exec.Cmd
	tail *logTail
	// done is closed once the process has exited; waitErr is its exit error.
	done    chan struct{}
	waitErr error
}

// serverArgs returns the postgres command line: loopback TCP only, no Unix
// socket (its path length limit and directory permissions only get in the way
// here), and no durability unless asked for.
func serverArgs(dir string, port int, fsync, tls bool) []string {
	args := []string{
		"-D", dir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "logging_collector=off",
	}
	if tls {
		args = append(args, "-c", "ssl=on")
	}
	if !fsync {
		args = append(args,
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
		)
	}
	return args
}

// launch starts postgres in the foreground. The child is started from a
// goroutine locked to its OS thread, and that thread lives until the child
// exits: Linux sends the parent death signal when the forking *thread* ends,
// and the Go runtime may otherwise retire it while the server still runs.
func launch(binDir, dir string, port int, acct account, opts Options) (*process, error) {
	p := &process{tail: &logTail{}, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, "postgres"), serverArgs(dir, port, opts.Fsync, opts.tls())...)
	p.cmd.Dir = dir
	p.cmd.Stdout = io.MultiWriter(opts.Log, p.tail)
	p.cmd.Stderr = p.cmd.Stdout
	p.cmd.SysProcAttr = sysProcAttr(acct)

	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread is discarded when this goroutine ends,
		// which is harmless once the child has exited.
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes an exit the caller did not ask for, quoting the output.
func (p *process) exitError() error {
	reason := "exited"
	if p.waitErr != nil {
		reason = p.waitErr.Error()
	}
	return errors.New(p.tail.annotate("postgres stopped unexpectedly: " + reason))
}
