/* schema_next.c: the store's schema with one migration more than this
 * sluice's. Linked into sluice_next (tests/CMakeLists.txt), which stands
 * for the next release of sluice in the upgrade test
 * (tests/store/test_upgrade.sh): it migrates what this sluice wrote, and
 * this sluice must refuse what it migrated. The released migrations are
 * schema.c's own, included under other names. */
#define schema_latest released_schema_latest
#define schema_migration released_schema_migration
#include "store/schema.c"
#undef schema_latest
#undef schema_migration

int schema_latest(void);
const char *const *schema_migration(int version);

static const char *const migration_next[] = {
    "CREATE TABLE next_release (note TEXT NOT NULL)",
    "INSERT INTO next_release (note) VALUES ('migrated by sluice_next')",
    NULL,
};

int schema_latest(void)
{
    return released_schema_latest() + 1;
}

const char *const *schema_migration(int version)
{
    if (version == schema_latest())
        return migration_next;
    return released_schema_migration(version);
}
