/* fuzz_clickhouse.c: the answers of a ClickHouse server that
 * sink_clickhouse reads (compiled in): version() (ch_parse_version), the
 * HTTP status and body of a refusal or of an exception mid-stream, which
 * decide between retry and fatal (ch_classify, ch_answer_code), and the
 * columns of system.columns ("name\ttype\n" lines) that an existing table
 * is checked against (ch_column_type, ch_names_found, ch_shape_diff). The
 * first byte picks the HTTP status, the rest is the answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 400, 401, 403, 404, 408,
                                    429, 500, 502, 503, 504, 0};
    if (size < 1)
        return 0;
    long http = statuses[data[0] % (sizeof statuses / sizeof *statuses)];
    char *body = strndup((const char *)data + 1, size - 1);

    struct ch_features f = {0};
    ch_parse_version(body, &f);
    if (strlen(f.version) >= sizeof f.version)
        abort();

    char message[512] = "";
    sluice_error err = {message, sizeof message};
    sluice_status st =
        ch_classify(CURLE_OK, http, body,
                    "INSERT INTO `db`.`t` FORMAT RowBinary", "", &err);
    if ((st == SLUICE_OK) != (http == 200) || (st != SLUICE_OK && !message[0]))
        abort();
    ch_server_code(ch_answer_code(body));

    char type[64];
    ch_column_type(body, "doc", type, sizeof type);
    ch_column_type(body, "_id", type, sizeof type);
    unsigned found = ch_names_found(body);
    (void)found;
    struct ch_fields none = {0};
    for (int names = CH_NAMES_SLUICE; names <= CH_NAMES_CLICKPIPES; names++) {
        struct ch_shape sh;
        if (!ch_shape_init(&sh, (enum ch_names)names, &f, &none, "t", true))
            abort();
        struct ch_buf diff = {0};
        ch_names_present((enum ch_names)names, body);
        if (!ch_shape_diff(&sh, body, &diff) ||
            !ch_shape_retyped(&sh, body, &diff))
            abort();
        ch_buf_free(&diff);
        ch_shape_free(&sh);
    }
    free(body);
    return 0;
}
