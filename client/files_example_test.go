package client_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/selectftp/selectftp/client"
)

// Make folders, upload into one after cd, list it, and read one entry
// back with Stat; paths are virtual ("/" is the top of the served tree).
func ExampleConn_List() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if err := c.Mkdir(ctx, true, "docs/old"); err != nil {
		log.Fatal(err)
	}
	dir, err := c.Cd(ctx, "docs")
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Put(ctx, strings.NewReader("hello\n"), 6, "a.txt", nil); err != nil {
		log.Fatal(err)
	}
	entries, err := c.List(ctx, client.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("in", dir)
	for _, e := range entries {
		fmt.Println(e.Name, e.Type, e.Mode.IsDir())
	}
	e, err := c.Stat(ctx, "/docs/a.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Path, e.Size)
	// Output:
	// in /docs
	// a.txt file false
	// old dir true
	// /docs/a.txt 6
}

// ListFunc decodes a listing line by line as it arrives, so a folder of
// any size lists in bounded memory.
func ExampleConn_ListFunc() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"b", "a", "c"} {
		if err := c.Put(ctx, strings.NewReader(name), 1, name, nil); err != nil {
			log.Fatal(err)
		}
	}
	n := 0
	err = c.ListFunc(ctx, client.ListOptions{}, func(e client.Entry) error {
		n++
		fmt.Println(e.Path)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "entries")
	// Output:
	// /a
	// /b
	// /c
	// 3 entries
}

// Rename with no-clobber refuses to replace; errors.Is tells the cause.
func ExampleConn_Rename() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"a", "b"} {
		if err := c.Put(ctx, strings.NewReader(name), 1, name, nil); err != nil {
			log.Fatal(err)
		}
	}
	err = c.Rename(ctx, "a", "b", true)
	fmt.Println("no clobber:", client.Code(err))
	if err := c.Rename(ctx, "a", "c", true); err != nil {
		log.Fatal(err)
	}
	sums, err := c.Sum(ctx, "sha256", "c")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sums[0].Path, sums[0].Digest[:16])
	if err := c.Remove(ctx, false, "b", "c"); err != nil {
		log.Fatal(err)
	}
	left, _ := c.List(ctx, client.ListOptions{})
	fmt.Println(len(left), "left")
	// Output:
	// no clobber: exists
	// /c ca978112ca1bbdca
	// 0 left
}
