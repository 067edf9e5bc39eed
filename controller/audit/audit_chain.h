#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_CHAIN_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_CHAIN_H_

#include <cstdint>
#include <string>

#include "controller/audit/audit_record.h"

namespace opsagent {

// The hash chain that makes the audit log tamper-evident: every intent and
// every outcome appends an event whose hash covers the previous event's hash
// and a digest of the row's content at that moment (in the spirit of
// CloudTrail's digest files). Editing, deleting or reordering rows breaks it.

// What an intent event covers: every intent column, length-prefixed so that
// no two rows serialize alike. (Rows from before schema 3, without os_uid,
// keep the form they were chained with.)
std::string CanonicalIntent(int64_t id, const v1::AuditIntent& intent);

// What an outcome event covers.
std::string CanonicalOutcome(int64_t id, const v1::AuditResult& result);

// Lower-case hex SHA-256.
std::string Sha256Hex(const std::string& data);

// The hash of an event: SHA-256 of the previous hash and the digest.
std::string ChainHash(const std::string& previous_hash,
                      const std::string& digest);

// The "previous hash" of the first event. It binds where the chain starts
// (audit_meta.chain_start: rows up to it predate the chain), so moving that
// mark breaks the link to the first event.
std::string GenesisHash(int64_t chain_start);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_CHAIN_H_
