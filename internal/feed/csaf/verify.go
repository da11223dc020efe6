package csaf

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// CheckHash verifies a checksum file (".sha256" / ".sha512") against
// the document. Both forms seen in the wild are accepted: "<hex>  name"
// where name is the bare file name or a path ending in it ("2026/x.json"),
// and a bare "<hex>".
func CheckHash(doc []byte, docName string, sumFile []byte, algo string) error {
	fields := strings.Fields(string(sumFile))
	if len(fields) == 0 {
		return fmt.Errorf("%s file is empty", algo)
	}
	want := strings.ToLower(fields[0])
	var got string
	switch algo {
	case "sha256":
		s := sha256.Sum256(doc)
		got = hex.EncodeToString(s[:])
	case "sha512":
		s := sha512.Sum512(doc)
		got = hex.EncodeToString(s[:])
	default:
		return fmt.Errorf("unknown hash %s", algo)
	}
	if len(want) != len(got) {
		return fmt.Errorf("%s file does not hold a %s digest", algo, algo)
	}
	if want != got {
		return fmt.Errorf("%s mismatch: file says %s, document is %s", algo, want, got)
	}
	if len(fields) > 1 {
		name := strings.TrimPrefix(fields[1], "*") // "*" marks binary mode
		if path.Base(name) != path.Base(docName) {
			return fmt.Errorf("%s file names %q, not %q", algo, name, path.Base(docName))
		}
	}
	return nil
}

// Keyring holds a provider's OpenPGP public keys, each checked against the
// fingerprint the provider metadata gives for it.
type Keyring struct {
	list openpgp.EntityList
}

// AddKey reads an armored public key and keeps it when its primary key
// has the expected fingerprint (hex, any case; empty: no check).
func (k *Keyring) AddKey(armored []byte, fingerprint string) error {
	ents, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return fmt.Errorf("OpenPGP key: %w", err)
	}
	fingerprint = strings.ToUpper(strings.ReplaceAll(fingerprint, " ", ""))
	for _, e := range ents {
		fp := strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
		if fingerprint != "" && fp != fingerprint {
			return fmt.Errorf("OpenPGP key fingerprint %s is not the %s the provider metadata names", fp, fingerprint)
		}
		k.list = append(k.list, e)
	}
	return nil
}

// Len is the number of keys held.
func (k *Keyring) Len() int { return len(k.list) }

// Verify checks an armored detached signature over doc and returns the
// signer's fingerprint.
func (k *Keyring) Verify(doc, sig []byte) (string, error) {
	if len(k.list) == 0 {
		return "", errors.New("no provider key to check the signature with")
	}
	signer, err := openpgp.CheckArmoredDetachedSignature(k.list, bytes.NewReader(doc), bytes.NewReader(sig), nil)
	if err != nil {
		return "", fmt.Errorf("OpenPGP signature: %w", err)
	}
	return strings.ToUpper(hex.EncodeToString(signer.PrimaryKey.Fingerprint)), nil
}
