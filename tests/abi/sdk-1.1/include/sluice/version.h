/* sluice/version.h: the release and ABI version numbers, testable at build
 * time (after curl's curlver.h).
 *
 * The ABI version is what the loader compares: a plugin built against ABI
 * MAJOR.MINOR loads in a core with the same MAJOR and a MINOR at least as
 * large. The release version names a release of sluice and says nothing
 * about compatibility. */
#ifndef SLUICE_VERSION_H
#define SLUICE_VERSION_H

#define SLUICE_VERSION_MAJOR 0
#define SLUICE_VERSION_MINOR 1
#define SLUICE_VERSION_PATCH 0
#define SLUICE_VERSION "0.1.0"
/* 0xMMmmpp: one number to compare, e.g. SLUICE_VERSION_NUM >= 0x000100 */
#define SLUICE_VERSION_NUM                                                    \
    ((SLUICE_VERSION_MAJOR << 16) | (SLUICE_VERSION_MINOR << 8) |             \
     SLUICE_VERSION_PATCH)

#define SLUICE_ABI_MAJOR 1
#define SLUICE_ABI_MINOR 1

/* True when the headers being compiled against provide ABI major.minor. */
#define SLUICE_ABI_AT_LEAST(major, minor)                                     \
    (SLUICE_ABI_MAJOR == (major) && SLUICE_ABI_MINOR >= (minor))

#endif
