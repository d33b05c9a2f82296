using System.Globalization;
using FraudModel;

namespace ScoringWorker;

/// <summary>Transactions as CSV: written for a demo run, read back as the stream to score.</summary>
public static class TransactionFile
{
    private const string Header = "id,seconds,amount,merchant_category,country,home_country,card_present,transactions_last_hour,distance_km,account_age_days";
    private static readonly string[] Countries = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "BR", "IN", "JP", "NG", "CA"];

    /// <summary>Writes <paramref name="rows"/> synthetic transactions (seeded, so runs compare) to <paramref name="path"/>.</summary>
    public static void Generate(string path, int rows)
    {
        var random = new Random(42);
        using var writer = new StreamWriter(path);
        writer.WriteLine(Header);
        for (var id = 0; id < rows; id++)
        {
            var home = Countries[random.Next(Countries.Length)];
            var abroad = random.NextDouble() < 0.08;
            var amount = MathF.Round(MathF.Exp((float)(random.NextDouble() * 6)), 2);
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{id},{random.NextDouble() * 172_800:0.0},{amount},{random.Next(10)},{(abroad ? Countries[random.Next(Countries.Length)] : home)},{home},{(random.NextDouble() < 0.6 ? 1 : 0)},{random.Next(8)},{(abroad ? random.Next(500, 9_000) : random.Next(0, 80))},{random.Next(1, 4_000)}"));
        }
    }

    /// <summary>Reads up to <paramref name="limit"/> transactions.</summary>
    public static List<Transaction> Read(string path, int limit)
    {
        var transactions = new List<Transaction>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            if (transactions.Count == limit) break;
            var f = line.Split(',');
            if (f.Length != 10) throw new InvalidDataException($"{path}: '{line}' has {f.Length} fields; a transaction has 10 ({Header}).");
            transactions.Add(new Transaction(
                long.Parse(f[0], CultureInfo.InvariantCulture),
                double.Parse(f[1], CultureInfo.InvariantCulture),
                float.Parse(f[2], CultureInfo.InvariantCulture),
                int.Parse(f[3], CultureInfo.InvariantCulture),
                f[4],
                f[5],
                f[6] == "1",
                int.Parse(f[7], CultureInfo.InvariantCulture),
                float.Parse(f[8], CultureInfo.InvariantCulture),
                int.Parse(f[9], CultureInfo.InvariantCulture)));
        }

        return transactions;
    }
}
