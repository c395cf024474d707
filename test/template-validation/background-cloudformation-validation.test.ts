import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CloudFormationValidatePlugin, IPolicyValidationContext, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { BackgroundCloudFormationValidation } from '../../lib/template-validation/background-cloudformation-validation';

/*
 * What the plugin does when its worker is not there to answer: the synth still gets CDK's own report, made on the
 * main thread, and the plugin says why. CDK's plugin is replaced by a stub on the main thread (building its rule engine
 * takes seconds); test/security/cdk-nag.test.ts runs the real worker on every mode.
 */

const MAIN_THREAD_REPORT: PolicyValidationPluginReport = {
  success: false,
  violations: [{ ruleName: 'MAIN', description: 'made on the main thread', violatingResources: [] }],
};

let folder: string;
let plugin: BackgroundCloudFormationValidation | undefined;

beforeEach(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-validation-test-'));
  jest.spyOn(CloudFormationValidatePlugin.prototype, 'validate').mockReturnValue(MAIN_THREAD_REPORT);
});

afterEach(async () => {
  await plugin?.stop();
  plugin = undefined;
  jest.restoreAllMocks();
  fs.rmSync(folder, { recursive: true, force: true });
});

/** A worker script of the test's own, in the test's folder. */
function workerScript(source: string): string {
  const file = path.join(folder, 'worker.js');
  fs.writeFileSync(file, source);
  return file;
}

function contextFor(templatePath: string): IPolicyValidationContext {
  return {
    appConstruct: new App(),
    templatePaths: [templatePath],
    stackTemplates: [{ stackConstructPath: 'Stack', templatePath, accountId: undefined, region: undefined }],
  };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('BackgroundCloudFormationValidation', () => {
  test('GIVEN a worker that fails as it starts THEN the report is made on the main thread and the failure is named', async () => {
    const told: string[] = [];
    plugin = BackgroundCloudFormationValidation.start({
      workerScript: workerScript("throw new Error('no engine here');"),
      onFallback: (reason) => told.push(reason),
    });
    await until(() => !plugin!.running);

    expect(plugin.validate(contextFor(path.join(folder, 'template.json')))).toBe(MAIN_THREAD_REPORT);
    expect(plugin.mainThreadReports).toBe(1);
    expect(plugin.workerReports).toBe(0);
    expect(plugin.lastFallbackReason).toBe('the validation worker failed: no engine here');
    expect(told).toEqual(['the validation worker failed: no engine here']);
  });

  test('GIVEN a worker that never answers THEN validate gives up after its timeout and the report is made on the main thread', () => {
    plugin = BackgroundCloudFormationValidation.start({
      workerScript: workerScript("require('worker_threads').parentPort.on('message', () => {});"),
      replyTimeoutMs: 300,
    });

    const started = Date.now();
    expect(plugin.validate(contextFor(path.join(folder, 'template.json')))).toBe(MAIN_THREAD_REPORT);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(plugin.lastFallbackReason).toBe('the validation worker did not answer within 0.3 s');
    expect(plugin.running).toBe(false);
  });

  test("GIVEN the real worker and a template it cannot read THEN CDK's error is named and the main thread reports", () => {
    plugin = BackgroundCloudFormationValidation.start({ warmUp: false });
    const missing = path.join(folder, 'missing.template.json');

    expect(plugin.validate(contextFor(missing))).toBe(MAIN_THREAD_REPORT);
    expect(plugin.lastFallbackReason).toContain(missing);
    expect(plugin.workerReports).toBe(0);
    // The worker is still there for the next synth.
    expect(plugin.running).toBe(true);
  });

  test('GIVEN the worker stopped THEN later reports are made on the main thread', async () => {
    plugin = BackgroundCloudFormationValidation.start({ warmUp: false });
    await plugin.stop();

    expect(plugin.validate(contextFor(path.join(folder, 'template.json')))).toBe(MAIN_THREAD_REPORT);
    expect(plugin.lastFallbackReason).toBe('the validation worker was stopped');
  });
});
