// Package outside holds no code: its test is a newcomer outside this
// module. It builds the README's embedding program and its example plugin
// in modules of their own (depending on this checkout through a replace,
// as the README says), runs them, and talks to them with the public client,
// so the README cannot drift from what compiles and works.
package outside
