package auth_test

import (
	"fmt"
	"sync"

	"github.com/selectftp/selectftp/host/auth"
)

// mapStore is an embedding program's own user store: accounts it built
// itself, here in memory. host.Server.Users takes any auth.Store.
type mapStore struct {
	mu    sync.RWMutex
	users map[string]auth.Account
}

func (s *mapStore) Lookup(name string) (auth.Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.users[name]
	if !ok {
		return auth.Account{}, auth.ErrUnknownUser
	}
	return a, nil
}

// An embedding program serves its own users: it derives SCRAM credentials
// from each password once, keeps only them, and hands the host a Store.
func Example() {
	creds, err := auth.NewCredentials("correct horse battery", auth.DefaultIterations)
	if err != nil {
		fmt.Println(err)
		return
	}
	perms, _ := auth.ParsePerms("list,read")
	store := &mapStore{users: map[string]auth.Account{
		"alice": {
			Name:        "alice",
			Root:        "alice", // under the server's root
			Perms:       perms,
			PathPerms:   map[string][]auth.Perm{"/incoming": {auth.PermList, auth.PermWrite}},
			Credentials: creds,
		},
	}}
	var _ auth.Store = store // what host.Server.Users takes

	alice, _ := store.Lookup("alice")
	fmt.Println(alice.Allows(auth.PermWrite, "/incoming/report.pdf"))
	fmt.Println(alice.Allows(auth.PermWrite, "/report.pdf"))
	fmt.Println(auth.CheckPassword(alice.Credentials, "correct horse battery"))
	_, err = store.Lookup("mallory")
	fmt.Println(err)
	// Output:
	// true
	// false
	// true
	// auth: unknown user
}
