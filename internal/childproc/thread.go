package childproc

import (
	"runtime"
	"sync"
)

// onOwnThread runs f on a goroutine locked to its OS thread and never
// unlocks it: when f returns, the runtime ends the thread instead of handing
// it to other goroutines. Children forked inside f therefore keep their
// parent thread for as long as f runs, and no other goroutine's
// LockOSThread can end it under them.
func onOwnThread(f func()) {
	runtime.LockOSThread()
	f()
}

// Parent is an OS thread kept for forking children that others start, such
// as the etcd and kube-apiserver that envtest forks: run the starting code
// with Do, and Close once those children have been stopped. Its methods must
// not be called concurrently with Close.
type Parent struct {
	work      chan func()
	quit      chan struct{}
	closeOnce sync.Once
}

// NewParent reserves a thread for Do.
func NewParent() *Parent {
	p := &Parent{work: make(chan func()), quit: make(chan struct{})}
	go onOwnThread(func() {
		for {
			select {
			case f := <-p.work:
				f()
			case <-p.quit:
				return
			}
		}
	})
	return p
}

// Do runs f on the parent thread and returns when it has.
func (p *Parent) Do(f func()) {
	done := make(chan struct{})
	p.work <- func() { defer close(done); f() }
	<-done
}

// Close releases the thread; children forked on it receive their parent
// death signal, if they still run. Later calls do nothing.
func (p *Parent) Close() { p.closeOnce.Do(func() { close(p.quit) }) }
