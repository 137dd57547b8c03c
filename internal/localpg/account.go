package localpg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// unprivilegedUsers are tried in order when the caller is root: Debian's
// postgresql package creates "postgres"; "nobody" exists nearly everywhere.
var unprivilegedUsers = [...]string{"postgres", "nobody"}

// account is the operating-system user the PostgreSQL processes run as.
// PostgreSQL refuses to run as root, so a root caller switches to another user.
type account struct {
	name     string
	uid, gid uint32
	// switchUser is true when the child processes must drop to uid/gid.
	switchUser bool
}

// currentAccount picks the account for this process: itself, unless it is root.
func currentAccount() (account, error) {
	if os.Geteuid() != 0 {
		return account{uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}, nil
	}
	for _, name := range unprivilegedUsers {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return account{}, fmt.Errorf("parsing uid of user %s: %w", name, err)
		}
		gid, err := strconv.ParseUint(u.Gid, 10, 32)
		if err != nil {
			return account{}, fmt.Errorf("parsing gid of user %s: %w", name, err)
		}
		return account{name: name, uid: uint32(uid), gid: uint32(gid), switchUser: true}, nil
	}
	return account{}, errors.New("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as (it refuses to run as root)")
}

// credential returns the process credential for child processes, or nil when
// they run as the caller. Supplementary groups are dropped with root's.
func (a account) credential() *syscall.Credential {
	if !a.switchUser {
		return nil
	}
	return &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: []uint32{}}
}

// adopt makes dir usable by the account: every ancestor must be searchable by
// it, and dir with its contents must be owned by it. Ancestors are only
// checked, never changed, since they may belong to anything.
func (a account) adopt(dir string) error {
	if !a.switchUser {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if err := a.checkSearchable(p); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("inspecting data directory: %w", err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid == a.uid && sys.Gid == a.gid {
		return nil
	}
	err = filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(a.uid), int(a.gid))
	})
	if err != nil {
		return fmt.Errorf("handing data directory %s to user %s: %w", dir, a.name, err)
	}
	return nil
}

// checkSearchable fails when the account cannot traverse dir, with a message
// that names the directory to fix.
func (a account) checkSearchable(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("inspecting %s: %w", dir, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	perm := st.Mode().Perm()
	var bit fs.FileMode = 0o001
	switch {
	case sys.Uid == a.uid:
		bit = 0o100
	case sys.Gid == a.gid:
		bit = 0o010
	}
	if perm&bit == 0 {
		return fmt.Errorf("PostgreSQL runs as user %s, which cannot reach the data directory: %s is not searchable by it (mode %v); allow it with chmod o+x %s or choose another data directory", a.name, dir, perm, dir)
	}
	return nil
}
