package pluginrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/sdk"
)

// decodeAccess reads a plugin's access declaration (sdk.Serve encodes it).
// A field this host does not know is an error, not ignored: it may narrow
// what the verb may do, and a check the host skips would grant it. The
// plugin is then refused, with the reason in the log.
func decodeAccess(b []byte) ([]sdk.Option, []sdk.Access, error) {
	if len(b) == 0 {
		return nil, nil, nil
	}
	var w struct {
		Options []sdk.Option
		Access  []sdk.Access
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil {
		return nil, nil, fmt.Errorf("access declaration: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("access declaration: data after the object")
	}
	return w.Options, w.Access, nil
}

// userHeader is the request's user as the run header carries it.
func userHeader(u *sdk.User) *pb.User {
	if u == nil {
		return nil
	}
	h := &pb.User{Name: u.Name, Perms: permNames(u.Perms)}
	if len(u.PathPerms) > 0 {
		h.PathPerms = make(map[string]*pb.Perms, len(u.PathPerms))
		for k, ps := range u.PathPerms {
			h.PathPerms[k] = &pb.Perms{Perms: permNames(ps)}
		}
	}
	return h
}

func permNames(ps []sdk.Perm) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}
