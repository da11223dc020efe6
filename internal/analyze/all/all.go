// Package all registers every analyzer: import it for its side effects.
// Adding an ecosystem is one folder plus one line here.
package all

import ()
