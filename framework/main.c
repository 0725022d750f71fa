/* main.c: the sluice program. Everything it does is a command (cli/). */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
