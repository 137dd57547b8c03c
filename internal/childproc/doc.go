// Package childproc starts the child processes of the operator's tools and
// tests — operator processes, PostgreSQL, etcd and kube-apiserver — so that
// they end when the process that started them ends, even when it is killed
// and runs no cleanup.
//
// On Linux a child gets a parent death signal (prctl PR_SET_PDEATHSIG). The
// kernel sends it when the *thread* that forked the child exits, not the
// process, and the Go runtime ends a thread whenever a goroutine locked to it
// returns without unlocking — so a child forked from an ordinary goroutine
// could be killed long before its parent dies. Every child is therefore
// forked from a goroutine locked to its OS thread that stays locked, and
// alive, for as long as the child runs (see docs/testing.md, "Child
// processes"). Elsewhere there is no parent death signal: callers must stop
// their children.
package childproc
