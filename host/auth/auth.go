// Package auth is what the host knows of users: the Account a session logs
// in as, and the Store accounts come from. The host authenticates with
// SCRAM-SHA-256 (RFC 5802, RFC 7677), so an Account holds SCRAM's stored
// keys, never a password: the password crosses no wire and no file.
// An embedding program serves its own users by implementing Store.
package auth

import (
	"errors"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/sdk"
)

// Perm is one thing a user may do: the SDK's, so the account the host
// checks and the user a command sees speak of the same permissions. The
// host checks them before a command runs, so a plugin that forgets cannot
// grant one.
type Perm = sdk.Perm

// The permissions, one per kind of change or access.
const (
	PermList   = sdk.PermList   // ls, stat, cd
	PermRead   = sdk.PermRead   // get, sum
	PermWrite  = sdk.PermWrite  // put (new files and overwrites)
	PermDelete = sdk.PermDelete // rm
	PermMkdir  = sdk.PermMkdir  // mkdir
	PermRename = sdk.PermRename // mv
)

// Account is one user as the host sees it.
type Account struct {
	Name string
	// Root is the user's tree, "/" for them: an absolute folder, or one
	// relative to the server's root.
	Root string
	// Perms apply everywhere in the tree, unless PathPerms says otherwise
	// for a sub-path.
	Perms []Perm
	// PathPerms maps a virtual path ("/incoming") to the permissions at
	// and below it; the longest matching path wins.
	PathPerms map[string][]Perm
	// Credentials verify a SCRAM-SHA-256 proof without the password.
	Credentials scram.StoredCredentials
	// Limits bound the user's connections, rates and storage.
	Limits Limits
}

// ErrUnknownUser is Store.Lookup's error for a name it does not know.
var ErrUnknownUser = errors.New("auth: unknown user")

// Store finds accounts by name. It must be safe for concurrent use: every
// login looks up its user.
type Store interface {
	Lookup(name string) (Account, error)
}
