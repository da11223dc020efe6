package layer

import "fmt"

// Limits bound what one layer may cost. Every limit can be raised by a
// flag; the defaults fit real images and stop bombs.
type Limits struct {
	// MaxLayerSize bounds the uncompressed bytes of one layer.
	MaxLayerSize int64
	// MaxFileSize bounds the size a tar header may declare for one entry.
	MaxFileSize int64
	// MaxRatio bounds uncompressed/compressed once RatioFloor bytes have
	// been inflated: real layers compress 2-10x, bombs 1000x.
	MaxRatio   int64
	RatioFloor int64
	// MaxEntries bounds the number of tar entries in one layer.
	MaxEntries int
}

// DefaultLimits are used when a field is zero.
var DefaultLimits = Limits{
	MaxLayerSize: 16 << 30,
	MaxFileSize:  1 << 30,
	MaxRatio:     200,
	RatioFloor:   256 << 20,
	MaxEntries:   2_000_000,
}

// WithDefaults fills zero fields from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.MaxLayerSize > 0 {
		d.MaxLayerSize = l.MaxLayerSize
	}
	if l.MaxFileSize > 0 {
		d.MaxFileSize = l.MaxFileSize
	}
	if l.MaxRatio > 0 {
		d.MaxRatio = l.MaxRatio
	}
	if l.RatioFloor > 0 {
		d.RatioFloor = l.RatioFloor
	}
	if l.MaxEntries > 0 {
		d.MaxEntries = l.MaxEntries
	}
	return d
}

// LimitError says which limit an input exceeded and how to raise it.
type LimitError struct {
	What  string // "layer size", "file size", "compression ratio", "entries"
	Limit int64
	Got   int64
	Flag  string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s %d exceeds the limit %d (raise it with %s if the input is trusted)", e.What, e.Got, e.Limit, e.Flag)
}
