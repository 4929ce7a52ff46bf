// OpenSSL's libcrypto, for the SHA-256 that confirms exact chunk duplicates.
#include <openssl/evp.h>
