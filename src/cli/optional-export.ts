/**
 * Loads `name` from a module that another part of the build provides (the daemon, the demo), so
 * the CLI builds and runs before they exist. Resolves to undefined when the module or the export
 * is missing; any other load error (a bug in that module) propagates.
 */
export async function optionalExport<O>(specifier: string, name: string): Promise<((options: O) => Promise<number>) | undefined> {
  let mod: unknown;
  try {
    mod = await import(specifier);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((e as Error).message).includes(specifier.replace(/^\.\.\//, ""))) return undefined;
    throw e;
  }
  const fn = (mod as Record<string, unknown>)[name];
  return typeof fn === "function" ? (fn as (options: O) => Promise<number>) : undefined;
}
