// The eval command's flags: defaults, overrides, and messages for a person when a flag is wrong.
import { describe, expect, it } from "vitest";
import { parseEvalArgs, UsageError } from "../../evals/index.js";

describe("parseEvalArgs", () => {
  it("needs only --dataset, and fills in the documented defaults", () => {
    expect(parseEvalArgs(["--dataset", "evals/datasets"])).toEqual({
      datasets: ["evals/datasets"],
      models: [],
      concurrency: 4,
      maxDrop: 0.02,
      judge: false,
      stringThreshold: 0.8,
      numberTolerance: 0.01,
    });
  });

  it("reads every flag", () => {
    const argv = [
      "--dataset", "a.jsonl", "--dataset", "b",
      "--model", "gpt-4.1-mini", "--concurrency", "8", "--out", "out", "--compare", "base/report.json", "--max-drop", "0.05",
      "--judge", "--judge-model", "gpt-4o", "--string-threshold", "0.7", "--number-tolerance", "0", "--prices", "p.json",
    ];
    expect(parseEvalArgs(argv)).toEqual({
      datasets: ["a.jsonl", "b"],
      models: ["gpt-4.1-mini"],
      concurrency: 8,
      out: "out",
      compare: "base/report.json",
      maxDrop: 0.05,
      judge: true,
      judgeModel: "gpt-4o",
      stringThreshold: 0.7,
      numberTolerance: 0,
      prices: "p.json",
    });
  });

  it.each([
    [["--models", "gpt-4o-mini,gpt-4.1-mini"], ["gpt-4o-mini", "gpt-4.1-mini"]],
    [["--models", "gpt-4o-mini, gpt-4.1-mini ,o4-mini"], ["gpt-4o-mini", "gpt-4.1-mini", "o4-mini"]],
    [["--models", "gpt-4o-mini", "--models", "llama3.1:8b"], ["gpt-4o-mini", "llama3.1:8b"]],
  ])("reads the models of a matrix from %j, in the order given", (flags, models) => {
    expect(parseEvalArgs(["--dataset", "d", ...flags])).toMatchObject({ models });
  });

  it("answers --help", () => {
    expect(parseEvalArgs(["--help"])).toBe("help");
  });

  it.each([
    [[], /--dataset is required/],
    [["--dataset", "d", "--concurrency", "0"], /--concurrency must be at least 1/],
    [["--dataset", "d", "--concurrency", "two"], /--concurrency must be a number/],
    [["--dataset", "d", "--max-drop", "2"], /--max-drop must be between 0 and 1/],
    [["--dataset", "d", "--string-threshold=-0.1"], /--string-threshold must be between 0 and 1/],
    [["--dataset", "d", "--datset", "x"], /Unknown option '--datset'/],
    [["--dataset", "d", "extra"], /positional/],
    [["--dataset", "d", "--model", "a", "--models", "b,c"], /--model and --models cannot be used together/],
    [["--dataset", "d", "--models", "a,b,a"], /--models names a model twice/],
    [["--dataset", "d", "--models", "a,,b"], /--models needs a model name/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseEvalArgs(argv)).toThrow(UsageError);
    expect(() => parseEvalArgs(argv)).toThrow(message);
  });
});
