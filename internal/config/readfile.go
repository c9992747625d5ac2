package config

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxFileSize is the largest input file the generator reads. Master configs, runner files
// and changelogs are well under 1 MiB; a file many times that is the wrong file or a
// hostile one, and reading, parsing and reporting it would cost gigabytes and minutes.
const MaxFileSize = 4 << 20

// TooLargeError is a file over MaxFileSize; Size is -1 when it is not known (a pipe).
type TooLargeError struct{ Size int64 }

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("it is larger than %d MiB, the most the generator reads", MaxFileSize>>20)
	}
	return fmt.Sprintf("it is %d bytes (%.1f MiB); the generator reads at most %d MiB", e.Size, float64(e.Size)/(1<<20), MaxFileSize>>20)
}

// ReadFile reads path, refusing a file over MaxFileSize before reading it, and a stream
// (a pipe, a device) after MaxFileSize bytes.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxFileSize {
		return nil, &TooLargeError{Size: st.Size()}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, &TooLargeError{Size: -1}
	}
	return data, nil
}

// capped makes read refuse what ReadFile refuses, for readers that are not files (git).
func capped(read func(string) ([]byte, error)) func(string) ([]byte, error) {
	return func(path string) ([]byte, error) {
		data, err := read(path)
		if err == nil && len(data) > MaxFileSize {
			return nil, &TooLargeError{Size: int64(len(data))}
		}
		return data, err
	}
}

func isTooLarge(err error) bool {
	var tl *TooLargeError
	return errors.As(err, &tl)
}
