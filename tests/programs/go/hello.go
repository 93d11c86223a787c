// A Go guest for cli/tests/other_languages.rs: prints its arguments and the size of its
// environment, writes a file in the directory preopened as /sandbox (its working
// directory), reads it back, renames it through a new directory, waits on a sleeping
// goroutine, and exits with its first argument as the exit code (0 without one).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"time"
)

func main() {
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "go: args=%d environ=%d\n", len(os.Args)-1, len(os.Environ()))
	for index, arg := range os.Args[1:] {
		fmt.Fprintf(out, "arg[%d]=%q\n", index+1, arg)
	}
	wd, err := os.Getwd()
	fmt.Fprintf(out, "getwd: %s %v\n", wd, err)

	// Relative paths resolve against the working directory, /sandbox.
	var contents bytes.Buffer
	for line := 0; line < 2000; line++ {
		fmt.Fprintf(&contents, "line %d: %x\n", line, uint32(line)*2654435761)
	}
	if err := os.WriteFile("go.txt", contents.Bytes(), 0o644); err != nil {
		fmt.Fprintf(out, "write: %v\n", err)
	}
	readBack, err := os.ReadFile("/sandbox/go.txt")
	if err != nil {
		fmt.Fprintf(out, "read: %v\n", err)
	}
	hash := fnv.New64a()
	hash.Write(readBack)
	fmt.Fprintf(out, "wrote %d bytes, read back %d, same: %v, fnv1a=%x\n",
		contents.Len(), len(readBack), bytes.Equal(contents.Bytes(), readBack), hash.Sum64())

	if err := os.Mkdir("sub", 0o755); err != nil {
		fmt.Fprintf(out, "mkdir: %v\n", err)
	}
	if err := os.Rename("go.txt", "sub/moved.txt"); err != nil {
		fmt.Fprintf(out, "rename: %v\n", err)
	}
	entries, err := os.ReadDir("sub")
	names := []string{}
	for _, entry := range entries {
		names = append(names, entry.Name())
	}
	sort.Strings(names)
	fmt.Fprintf(out, "readdir sub: %v %v\n", names, err)
	if err := os.Rename("sub/moved.txt", "go.txt"); err != nil {
		fmt.Fprintf(out, "rename back: %v\n", err)
	}
	if err := os.Remove("sub"); err != nil {
		fmt.Fprintf(out, "remove: %v\n", err)
	}
	_, err = os.Stat("missing.txt")
	fmt.Fprintf(out, "missing.txt: not exist: %v\n", errors.Is(err, fs.ErrNotExist))

	// The scheduler parks on poll_oneoff while the goroutine sleeps.
	start := time.Now()
	done := make(chan int)
	go func() {
		time.Sleep(20 * time.Millisecond)
		done <- 42
	}()
	fmt.Fprintf(out, "goroutine: %d, slept at least 20 ms: %v\n",
		<-done, time.Since(start) >= 20*time.Millisecond)

	code := 0
	if len(os.Args) > 1 {
		if parsed, err := strconv.Atoi(os.Args[1]); err == nil {
			code = parsed
		}
	}
	fmt.Fprintf(out, "exiting with %d\n", code)
	out.Flush()
	os.Exit(code)
}
