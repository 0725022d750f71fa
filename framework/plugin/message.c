/* message.c: a plugin's message as the core shows it (see plugin.h). The
 * rule: a message names the plugin once, and the core is what names it
 * (calls.c puts "plugin.callback: " in front of every failure). A plugin
 * that starts its messages with its own name ("my_sink: cannot write
 * ...", as older guides said) has that leading name left out so it is not
 * said twice. */
#include <string.h>

#include "plugin.h"

const char *plugin_message(const char *plugin, const char *message)
{
    if (!message || !message[0])
        return "(the plugin gave no message)";
    size_t n = plugin ? strlen(plugin) : 0;
    if (n && !strncmp(message, plugin, n) && message[n] == ':') {
        const char *rest = message + n + 1;
        rest += strspn(rest, " ");
        if (rest[0])
            return rest;
    }
    return message;
}
