package childproc_test

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/childproc"
)

func TestStopEndsTheChild(t *testing.T) {
	p, err := childproc.Start(exec.Command("sleep", "300"), syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	if p.Exited() {
		t.Fatal("the child exited at once")
	}
	p.Stop(syscall.SIGTERM, time.Minute)
	if !p.Exited() {
		t.Fatal("Stop returned before the child exited")
	}
	var exit *exec.ExitError
	if err := p.Err(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("Err = %v, want the child ended by SIGTERM", err)
	}
}

func TestStopKillsAChildThatIgnoresTheSignal(t *testing.T) {
	// The shell ignores SIGTERM and says so once it has set the trap.
	cmd := exec.Command("sh", "-c", `trap "" TERM; echo trapped; while :; do sleep 1; done`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := childproc.Start(cmd, syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := out.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	p.Stop(syscall.SIGTERM, 100*time.Millisecond)
	var exit *exec.ExitError
	if err := p.Err(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("Err = %v, want the child killed", err)
	}
}

func TestKillRefusesAnExitedChild(t *testing.T) {
	p, err := childproc.Start(exec.Command("true"), syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if err := p.Kill(); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Kill of an exited child = %v, want os.ErrProcessDone", err)
	}
}
