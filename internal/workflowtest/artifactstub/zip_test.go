package main

import (
	"archive/zip"
	"io"
)

// newZip writes a one-file archive with an arbitrary entry name.
func newZip(w io.Writer, name, content string) error {
	zw := zip.NewWriter(w)
	f, err := zw.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(content)); err != nil {
		return err
	}
	return zw.Close()
}
