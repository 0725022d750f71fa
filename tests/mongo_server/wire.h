/* wire.h: a request's body (the bytes after the 16-byte message header)
 * read into the command it carries (wire.c). */
#ifndef MONGO_TEST_SERVER_WIRE_H
#define MONGO_TEST_SERVER_WIRE_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

#define OP_QUERY 2004
#define OP_MSG 2013

/* Reads the body of a message of `opcode` into `cmd` (initialized by the
 * caller, who destroys it); false when it is neither an OP_MSG nor an
 * OP_QUERY whose bytes add up. `cmd` may be a view of `body`'s bytes
 * (an OP_MSG without document sequences), which must outlive it.
 * `more_to_come`: the OP_MSG's flag that no answer is wanted. */
bool wire_parse(int32_t opcode, const uint8_t *body, size_t len, bson_t *cmd,
                bool *more_to_come);

#endif
