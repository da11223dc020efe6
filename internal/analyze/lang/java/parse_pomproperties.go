package java

import (
	"strconv"
	"strings"
)

// ParsePomProperties parses a Java properties file (Maven's pom.properties:
// groupId, artifactId, version) into its keys and values, following
// java.util.Properties: '#' and '!' comments, '=', ':' or blanks between
// key and value, backslash continuations and escapes. It never fails: a
// line it cannot read contributes what it can.
func ParsePomProperties(b []byte) map[string]string {
	out := map[string]string{}
	s := string(b)
	for len(s) > 0 {
		var line string
		line, s = logicalLine(s)
		line = strings.TrimLeft(line, " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// The key ends at the first unescaped separator or blank.
		i := 0
		for i < len(line) {
			c := line[i]
			if c == '\\' {
				i += 2
				continue
			}
			if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
				break
			}
			i++
		}
		if i > len(line) {
			i = len(line)
		}
		key, rest := line[:i], line[i:]
		rest = strings.TrimLeft(rest, " \t\f")
		if rest != "" && (rest[0] == '=' || rest[0] == ':') {
			rest = strings.TrimLeft(rest[1:], " \t\f")
		}
		out[unescape(key)] = strings.TrimRight(unescape(rest), " \t\f")
	}
	return out
}

// logicalLine returns the first logical line of s (natural lines joined
// where one ends in an odd number of backslashes, the continuation's
// leading blanks dropped) and the rest of s. Comment lines never continue.
func logicalLine(s string) (line, rest string) {
	var sb strings.Builder
	first := true
	for {
		nl := strings.IndexAny(s, "\r\n")
		var nat string
		if nl < 0 {
			nat, s = s, ""
		} else {
			nat = s[:nl]
			if s[nl] == '\r' && nl+1 < len(s) && s[nl+1] == '\n' {
				s = s[nl+2:]
			} else {
				s = s[nl+1:]
			}
		}
		if !first {
			nat = strings.TrimLeft(nat, " \t\f")
		} else if t := strings.TrimLeft(nat, " \t\f"); t != "" && (t[0] == '#' || t[0] == '!') {
			return nat, s
		}
		first = false
		n := 0
		for j := len(nat) - 1; j >= 0 && nat[j] == '\\'; j-- {
			n++
		}
		if n%2 == 1 && s != "" {
			sb.WriteString(nat[:len(nat)-1])
			continue
		}
		if n%2 == 1 {
			nat = nat[:len(nat)-1]
		}
		sb.WriteString(nat)
		return sb.String(), s
	}
}

// unescape resolves java.util.Properties escapes.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			sb.WriteByte('\t')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 'f':
			sb.WriteByte('\f')
		case 'u':
			if i+4 < len(s) {
				if r, err := strconv.ParseUint(s[i+1:i+5], 16, 32); err == nil {
					sb.WriteRune(rune(r))
					i += 4
					continue
				}
			}
			sb.WriteByte('u')
		default:
			sb.WriteByte(s[i])
		}
	}
	return sb.String()
}
