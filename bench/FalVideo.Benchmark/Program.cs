using FalVideo.Benchmark;

// One executable, two roles: the driver (default) and, with --child, a single contender run in its own process,
// so each contender's wall time, peak memory and CPU time are its own and not the driver's or the emulator's.
if (args.Length > 0 && args[0] == ChildMode.Flag)
{
    return await ChildMode.RunAsync(args[1..]);
}

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchmarkOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(BenchmarkOptions.Usage);
    return 0;
}

return await BenchmarkDriver.RunAsync(options);
