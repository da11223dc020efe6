package feed

import (
	"fmt"
	"sort"
	"sync"
)

var (
	regMu      sync.RWMutex
	connectors = map[string]Connector{}
)

// Register adds a connector under its Name; each connector package calls
// it from init, and internal/feed/all imports every such package. A second
// registration of the same name panics: it is a programming error.
func Register(c Connector) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := connectors[c.Name()]; dup {
		panic(fmt.Sprintf("feed: connector %q registered twice", c.Name()))
	}
	connectors[c.Name()] = c
}

// All returns the registered connectors sorted by name.
func All() []Connector {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Connector, 0, len(connectors))
	for _, c := range connectors {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Lookup returns the connector called name.
func Lookup(name string) (Connector, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	c, ok := connectors[name]
	if !ok {
		names := make([]string, 0, len(connectors))
		for n := range connectors {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown source %q (known: %v; see `stella db sources`)", name, names)
	}
	return c, nil
}
