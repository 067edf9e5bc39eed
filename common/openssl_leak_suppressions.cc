// Linked into the programs that make TLS client connections (opsctl, and
// opsctld for its in-process diagnosis); nothing outside the ASan build.

#if defined(__SANITIZE_ADDRESS__)
// The ASan test pass only. At a TLS client's exit, LeakSanitizer now and then
// reports OpenSSL allocations (seen twice so far in opsctl, once failing a CI
// run): their stacks stop in OpenSSL's allocator, so whose they are cannot be
// told, gRPC's TLS state being the likely owner. They made the suite flaky.
// Leaks of our own allocations are still reported; an OpenSSL object our
// code failed to free would not be.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:CRYPTO_zalloc\n"
         "leak:CRYPTO_malloc\n"
         "leak:CRYPTO_strdup\n"
         "leak:CRYPTO_strndup\n"
         "leak:OPENSSL_sk_deep_copy\n"
         "leak:ossl_provider_set_operation_bit\n";
}
#endif
