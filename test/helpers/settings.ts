import { parseSettings, SettingsError } from '../../bin/settings';

/** Parses settings from an environment and context, as bin/ does, without reading the process's own. */
export function parse(env: Record<string, string>, context?: Record<string, unknown>) {
  return parseSettings({ env, context });
}

/** The one-line message of the SettingsError that parsing these settings throws; fails when nothing is thrown. */
export function errorOf(env: Record<string, string>, context?: Record<string, unknown>): string {
  try {
    parse(env, context);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error('expected a SettingsError');
}
