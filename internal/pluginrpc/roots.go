package pluginrpc

import (
	"os"
	"runtime"
	"sync"
	"weak"

	"github.com/selectftp/selectftp/sdk"
)

// rootIDs names each distinct *os.Root the host serves requests on (the
// server's root today, a session's or user's tree later). A plugin never
// gets a root's path: the host passes the root's open directory once per
// plugin process, tagged with the root's id, and each request names the id.
// Ids are never reused, so a plugin's cache cannot mistake a new root for
// an old one. The table holds roots weakly: a root nobody holds any more
// leaves it when collected.
var rootIDs = struct {
	mu   sync.Mutex
	ids  map[weak.Pointer[os.Root]]uint64
	next uint64
}{ids: map[weak.Pointer[os.Root]]uint64{}}

// rootID returns root's id, assigning one on first use.
func rootID(root *os.Root) uint64 {
	wp := weak.Make(root)
	rootIDs.mu.Lock()
	defer rootIDs.mu.Unlock()
	if id, ok := rootIDs.ids[wp]; ok {
		return id
	}
	rootIDs.next++
	id := rootIDs.next
	rootIDs.ids[wp] = id
	runtime.AddCleanup(root, func(wp weak.Pointer[os.Root]) {
		rootIDs.mu.Lock()
		delete(rootIDs.ids, wp)
		rootIDs.mu.Unlock()
	}, wp)
	return id
}

// passRoot makes sure this plugin process holds root's directory and
// returns the id requests name it by. The descriptor goes out once per
// process, before the first request naming it; a restarted process has a
// new Remote, so it gets the descriptor again from the host's open root,
// never a path.
func (r *Remote) passRoot(root *os.Root) (uint64, error) {
	if r.files == nil {
		// Without a descriptor channel the only way to name a root is its
		// path, which is what let a replaced folder be served.
		return 0, sdk.Errorf(sdk.CodeInternal,
			"plugin %s has no descriptor channel to receive its root on", r.name)
	}
	id := rootID(root)
	r.rootMu.Lock()
	defer r.rootMu.Unlock()
	if r.roots[id] {
		return id, nil
	}
	// Open(".") is the root's directory itself, wherever it is now.
	dir, err := root.Open(".")
	if err != nil {
		return 0, sdk.Errorf(sdk.CodeInternal, "open the root for plugin %s: %v", r.name, err)
	}
	err = r.files.Send(id, dir)
	dir.Close() // the plugin has its own duplicate
	if err != nil {
		return 0, sdk.Errorf(sdk.CodeInternal, "pass the root to plugin %s: %v", r.name, err)
	}
	if r.roots == nil {
		r.roots = map[uint64]bool{}
	}
	r.roots[id] = true
	return id, nil
}
