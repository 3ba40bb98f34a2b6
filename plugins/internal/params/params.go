// Package params holds the parameter rules the built-in file verbs share.
package params

import "github.com/selectftp/selectftp/sdk"

// Path is the one path a file verb takes: the "path" parameter, or the one
// word typed after the verb (both, if they agree).
func Path(verb, path string, args []string) (string, error) {
	switch {
	case len(args) > 1:
		return "", sdk.Errorf(sdk.CodeBadRequest, "%s takes one path, got %d words", verb, len(args))
	case path == "" && len(args) == 1:
		path = args[0]
	case path != "" && len(args) == 1 && args[0] != path:
		return "", sdk.Errorf(sdk.CodeBadRequest, "two paths given: %q and %q", path, args[0])
	}
	if path == "" {
		return "", sdk.Errorf(sdk.CodeBadRequest, "%s needs a path", verb)
	}
	return path, nil
}
