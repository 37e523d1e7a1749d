// Package adapters is the contract between the SCIM side of the bridge and the vendor APIs it provisions into:
// one small Adapter interface, the canonical User it speaks, typed errors, and the decorators that every adapter
// gets for free: Retrying, and Instrumented beneath it, which counts and times every vendor call for /metrics.
//
// An adapter promises:
//   - every error it returns is an *Error whose Kind says what went wrong, and whose text holds no secret, no query
//     string and no vendor body;
//   - Create returns the user as the vendor stored it (read back if the vendor answers with a short body);
//   - Update changes exactly the fields set in the Change and leaves every other vendor field as it was, even on a
//     vendor whose update is a full-replacement PUT;
//   - FindByEmail ignores case;
//   - it is safe for concurrent use, and retries nothing itself: Retrying does that, once, for every adapter.
package adapters
