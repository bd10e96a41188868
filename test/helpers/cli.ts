/** Run the CLI in-process with captured output (the same main() the bin calls). */
import { main } from '../../src/cli';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (s) => { stdout += s; },
    stderr: (s) => { stderr += s; },
    env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]', ...env },
  });
  return { code, stdout, stderr };
}
