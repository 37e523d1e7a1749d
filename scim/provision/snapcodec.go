package provision

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
)

// The cached vendor listing holds every vendor user; at 100k users, adapters.User values in a map (each with its
// own Attrs map) took about 350 bytes a user, most of a 100k-user bridge's memory. The listing keeps each user
// instead as one string in the format below (about 80 bytes for a Trainual list item) and decodes the few it
// hands out. Opaque is not kept: nothing the listing serves uses it (writes read the user again).
//
//	id, email, givenName, familyName   uvarint length + bytes each; id first, so it can key the index
//	flags                              one byte (flag* below)
//	created, updated                   uvarint length + time.MarshalBinary (zone offset kept), length 0 for the
//	                                   zero time
//	attrs                              uvarint count, then (uvarint key index into attrKeys, uvarint length + value)
//	                                   for each, in key order
const (
	flagActive   = 1 << iota
	flagPartial  // a listing item that lacks the state
	flagAttrsNil // Attrs was nil (not merely empty)
)

// attrKeys interns the attribute paths of a listing: a handful (those the adapter holds), shared by every user.
type attrKeys struct {
	names []string
	index map[string]uint64
}

func (k *attrKeys) id(name string) uint64 {
	if i, ok := k.index[name]; ok {
		return i
	}
	if k.index == nil {
		k.index = map[string]uint64{}
	}
	k.index[name] = uint64(len(k.names))
	k.names = append(k.names, name)
	return uint64(len(k.names) - 1)
}

// encodeUser packs u; keys must be the listing's (its index grows with new attribute paths).
func encodeUser(u adapters.User, keys *attrKeys) string {
	b := make([]byte, 0, 64+len(u.ID)+len(u.Email)+len(u.GivenName)+len(u.FamilyName))
	for _, s := range []string{u.ID, u.Email, u.GivenName, u.FamilyName} {
		b = appendString(b, s)
	}
	var flags byte
	if u.Active {
		flags |= flagActive
	}
	if u.Partial {
		flags |= flagPartial
	}
	if u.Attrs == nil {
		flags |= flagAttrsNil
	}
	b = append(b, flags)
	for _, t := range []time.Time{u.Created, u.Updated} {
		if t.IsZero() && t.Location() == time.UTC {
			b = appendString(b, "") // a listing item without times (Trainual's): the zero time
			continue
		}
		tb, err := t.MarshalBinary()
		if err != nil {
			// A zone offset MarshalBinary cannot hold (beyond ±22 days) never comes from a vendor's time stamp;
			// keep the instant.
			tb, _ = t.UTC().MarshalBinary()
		}
		b = appendString(b, string(tb))
	}
	b = binary.AppendUvarint(b, uint64(len(u.Attrs)))
	names := make([]string, 0, len(u.Attrs))
	for k := range u.Attrs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		b = binary.AppendUvarint(b, keys.id(k))
		b = appendString(b, u.Attrs[k])
	}
	return string(b)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// encodedID returns the id of an encoded user without copying it: a substring of rec.
func encodedID(rec string) string {
	s, _ := readString(rec, 0)
	return s
}

// decodeUser unpacks what encodeUser packed with the same keys.
func decodeUser(rec string, keys *attrKeys) adapters.User {
	var u adapters.User
	i := 0
	for _, dst := range []*string{&u.ID, &u.Email, &u.GivenName, &u.FamilyName} {
		*dst, i = readString(rec, i)
	}
	flags := rec[i]
	i++
	u.Active, u.Partial = flags&flagActive != 0, flags&flagPartial != 0
	for _, dst := range []*time.Time{&u.Created, &u.Updated} {
		var tb string
		if tb, i = readString(rec, i); tb != "" {
			_ = dst.UnmarshalBinary([]byte(tb))
		}
	}
	n, i := uvarint(rec, i)
	if flags&flagAttrsNil == 0 {
		u.Attrs = make(map[string]string, n)
	}
	for range n {
		var k uint64
		k, i = uvarint(rec, i)
		var v string
		v, i = readString(rec, i)
		u.Attrs[keys.names[k]] = v
	}
	return u
}

// readString reads a length-prefixed string at i; the result shares rec's memory.
func readString(rec string, i int) (string, int) {
	n, i := uvarint(rec, i)
	return rec[i : i+int(n)], i + int(n)
}

// uvarint reads what binary.AppendUvarint wrote at i, and returns the index after it.
func uvarint(s string, i int) (uint64, int) {
	var x uint64
	for shift := uint(0); i < len(s); shift += 7 {
		c := s[i]
		i++
		if c < 0x80 {
			return x | uint64(c)<<shift, i
		}
		x |= uint64(c&0x7f) << shift
	}
	return x, i
}
