import { Command, CommanderError } from "commander";

/**
 * The `tsipsec` command. A thin client: every verb but `start`, `check` and `demo` talks to a
 * running daemon over its control socket (src/control/).
 *
 * Returns the process exit code: 0 success, 1 runtime failure, 2 usage or configuration error.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command();
  program
    .name("tsipsec")
    .description("IPsec (IKEv2, ESP, AH) VPN gateway in TypeScript")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  let code = 0;
  program
    .command("demo")
    .description("build a four-namespace site-to-site topology and run an encrypted tunnel through it")
    .action(() => {
      process.stdout.write("tsipsec demo: not built yet (see issue: the gateway).\n");
      code = 1;
    });

  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 2;
    }
    throw e;
  }
  return code;
}
