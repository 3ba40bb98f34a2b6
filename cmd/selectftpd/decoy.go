package main

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host/users"
)

// decoyKey returns host.Server.DecoyKey for --users: the key in the file
// --decoy-key names, which must exist and pass its checks, or else the one
// kept beside the users file, so unknown names' decoy salts do not change
// at a restart while real ones stay. When that one is missing and cannot
// be created (a read-only folder, a secret mount) the server still starts,
// with a key per process (nil), and says what that costs; a key that
// exists but fails a check always stops it.
func decoyKey(usersFile, named string, log hclog.Logger) ([]byte, error) {
	if named != "" {
		key, err := users.ReadDecoyKey(named)
		if err != nil {
			return nil, fmt.Errorf("--decoy-key: %w", err)
		}
		return key, nil
	}
	key, err := users.DecoyKey(usersFile)
	if errors.Is(err, users.ErrDecoyKeyNotCreated) {
		log.Warn("using a decoy key for this process only: unknown names' decoy salts will change at each restart, "+
			"which tells them from real accounts to whoever compares; give a kept key with --decoy-key",
			"error", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--users: %w", err)
	}
	return key, nil
}
