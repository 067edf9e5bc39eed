// Every TLS connection of the process gives its record buffers back while
// idle (SSL_MODE_RELEASE_BUFFERS, as nginx sets): a controller holds
// thousands of connections that are quiet almost all the time, and each
// would otherwise keep two 16 KiB buffers. gRPC creates its SSL objects
// itself, so SSL_new is wrapped at link time (-Wl,--wrap=SSL_new, set by the
// library that holds this file).

#include <openssl/ssl.h>

extern "C" {

SSL* __real_SSL_new(SSL_CTX* context);

SSL* __wrap_SSL_new(SSL_CTX* context) {
  SSL* ssl = __real_SSL_new(context);
  if (ssl != nullptr) SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  return ssl;
}

}  // extern "C"
