/* commands.h: the subcommands of canary, one file each (cmd_<name>.c). */
#ifndef CANARY_COMMANDS_H
#define CANARY_COMMANDS_H

int cmd_check_config(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_reveal(int argc, char **argv);
int cmd_attachment(int argc, char **argv);
int cmd_assign(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_move(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_bridge(int argc, char **argv);
int cmd_reply(int argc, char **argv);
int cmd_outbox(int argc, char **argv);
int cmd_send(int argc, char **argv);

#endif
