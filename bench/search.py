"""
How fast the directory's searches answer over 100,000 accounts.

Run: python bench/search.py [--dsn DSN] [--users N] [--runs N] [--no-plans]

Without --dsn an embedded PostgreSQL is started in a temporary folder and
removed afterwards.  With --dsn the given database is used; it must not hold
any accounts (the bench fills and empties the users table).  The accounts are
made by one INSERT ... SELECT generate_series, from fixed lists of names,
cities and companies, so every run searches the same data.

For each search kind the bench runs the SQL the server runs (built by
L{iserverd.storage.directory.search_sql}, fetching V5 max search + 1 rows),
and prints how many rows came back, the median, 95th percentile and worst
round-trip time over the runs as the server's database client sees them, the
execution time PostgreSQL reports, and the access paths; then the EXPLAIN
ANALYZE plan of each search.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psycopg2  # noqa: E402

from iserverd.storage import schema  # noqa: E402
from iserverd.storage.directory import Keywords, SearchQuery, search_sql  # noqa: E402

LIMIT = 100  # the shipped "V5 max search"

FIRST = ["John", "Mary", "Peter", "Anna", "Ivan", "Olga", "Hans", "Eva", "Jean", "Marie",
         "Carlos", "Lucia", "Piotr", "Ewa", "Ahmed", "Fatima", "Kenji", "Yuki", "Liam", "Emma",
         "Noah", "Olivia", "Lars", "Ingrid", "Paolo", "Giulia", "Sven", "Astrid", "Tomas", "Lena",
         "Dmitri", "Irina", "Pavel", "Natasha", "Jose", "Carmen", "Ali", "Leila", "Raj", "Priya"]
LAST = ["Smith", "Johnson", "Brown", "Miller", "Davis", "Garcia", "Martin", "Bernard", "Dubois",
        "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Ivanov", "Petrov", "Sidorov",
        "Kowalski", "Nowak", "Rossi", "Russo", "Ferrari", "Esposito", "Lopez", "Gonzalez",
        "Perez", "Sato", "Suzuki", "Tanaka", "Watanabe", "Nielsen", "Hansen", "Jensen",
        "Larsen", "Andersson", "Johansson", "Karlsson", "Novak", "Horvat", "Kovacs", "Nagy",
        "Popescu", "Ionescu", "Yilmaz", "Kaya", "Demir", "Cohen", "Levi", "Singh", "Kumar"]
CITIES = ["Paris", "Lyon", "Berlin", "Hamburg", "Moscow", "Kazan", "Warsaw", "Krakow", "Rome",
          "Milan", "Madrid", "Sevilla", "Tokyo", "Osaka", "Oslo", "Bergen", "Prague", "Brno",
          "Vienna", "Graz", "Zurich", "Geneva", "Lisbon", "Porto", "Dublin", "Cork", "Athens",
          "Sofia", "Riga", "Tallinn"]
COMPANIES = ["ACME", "Initech", "Globex", "Umbrella", "Hooli", "Vandelay", "Soylent", "Wonka",
             "Stark", "Wayne", "Tyrell", "Cyberdyne", "Aperture", "Black Mesa", "Massive Dynamic"]
STATES = ["Bavaria", "Saxony", "Texas", "Ohio", "Kent", "Tuscany", "Ontario", "Quebec"]

FILL = """
INSERT INTO users (uin, password_hash, nick, first_name, last_name, email, email2,
                   home_city, home_state, work_company, work_state, age, gender, languages,
                   home_country, interests, homepage_category_enabled, homepage_category,
                   homepage_description)
SELECT 10000 + i, 'x',
       'nick' || i,
       (%(first)s::text[])[1 + i %% %(nfirst)s],
       (%(last)s::text[])[1 + (i / 7) %% %(nlast)s],
       'user' || i || '@example.org',
       'user' || i || '@example.org',
       (%(cities)s::text[])[1 + (i / 3) %% %(ncities)s] || CASE WHEN i %% 997 = 0 THEN ' Rare' ELSE '' END,
       CASE WHEN i %% 5 = 0 THEN (%(states)s::text[])[1 + i %% %(nstates)s] ELSE '' END,
       CASE WHEN i %% 4 = 0 THEN (%(companies)s::text[])[1 + (i / 4) %% %(ncompanies)s] ELSE '' END,
       CASE WHEN i %% 11 = 0 THEN (%(states)s::text[])[1 + i %% %(nstates)s] ELSE '' END,
       16 + abs(hashint4(i)) %% 60,
       1 + abs(hashint4(i + 1)) %% 2,
       ARRAY[(abs(hashint4(i + 2)) %% 20)::smallint, 0::smallint, 0::smallint],
       CASE WHEN i %% 3 = 0 THEN 49 ELSE 33 END,
       CASE WHEN i %% 10 = 0
            THEN jsonb_build_array(jsonb_build_array(100 + i %% 50, 'chess, go, music'))
            ELSE '[]'::jsonb END,
       i %% 50 = 0, CASE WHEN i %% 50 = 0 THEN 2 + i %% 7 ELSE 0 END,
       CASE WHEN i %% 50 = 0 THEN 'my page about gardening' ELSE '' END
FROM generate_series(1, %(n)s) AS i
"""

# (label, query): each search kind of v5.md section 15.5, with common and rare values.
SEARCHES = [
    ("UIN", SearchQuery(uin=10000 + 54321)),
    ("UIN, unknown", SearchQuery(uin=999)),
    ("nick, one match", SearchQuery(nick="nick54321")),
    ("nick, prefix of 11", SearchQuery(nick="nick5432")),
    ("first name, 2,500 match (cut)", SearchQuery(first_name="john")),
    ("last name, rare prefix", SearchQuery(last_name="Kowalsky")),
    ("first and last name", SearchQuery(first_name="Mary", last_name="Nagy")),
    ("first, last and nick", SearchQuery(first_name="Mary", last_name="Nagy", nick="nick79")),
    ("e-mail", SearchQuery(email="User54321@Example.org")),
    ("e-mail, unknown", SearchQuery(email="nobody@example.org")),
    ("white pages: e-mail 2 or 3", SearchQuery(any_email="user777@example.org")),
    ("white pages: first name + age + gender", SearchQuery(first_name="Anna", min_age=23, max_age=29, gender=1)),
    ("white pages: rare city", SearchQuery(city="Paris Rare")),
    ("white pages: city + age, cut", SearchQuery(city="Lyon", min_age=30, max_age=39)),
    ("white pages: company", SearchQuery(company="tyrell")),
    ("white pages: state (home or work)", SearchQuery(state="Tuscany")),
    ("white pages: state, no match", SearchQuery(state="Nowhere")),
    ("white pages: department, no match", SearchQuery(department="Nowhere")),
    ("white pages: position, no match", SearchQuery(position="Nowhere")),
    ("white pages: occupation, no match", SearchQuery(occupation=99)),
    ("white pages: age 100-120, no match", SearchQuery(min_age=100, max_age=120)),
    ("white pages: gender + language, no match", SearchQuery(gender=2, language=77)),
    ("white pages: country + language", SearchQuery(country=49, language=7)),
    ("white pages: interests category + keyword",
     SearchQuery(interests=Keywords(120, "music"))),
    ("white pages: homepage category + keyword",
     SearchQuery(homepage=Keywords(5, "garden"))),
    ("white pages: nick, no match", SearchQuery(nick="zzz")),
    ("white pages: last name, online only", SearchQuery(last_name="Smith", online_only=True)),
    ("white pages: online only", SearchQuery(online_only=True)),
]


def embedded():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    folder = tempfile.mkdtemp(prefix="iserverd-bench-")
    server = pgserver.get_server(os.path.join(folder, "pg"), cleanup_mode="delete")
    conn = psycopg2.connect(server.get_uri("postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE iserverd_bench")
    conn.close()
    return server.get_uri("iserverd_bench"), lambda: (server.cleanup(), shutil.rmtree(folder, True))


def prepare(conn, n):
    with conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_version') IS NOT NULL")
        if not cur.fetchone()[0]:
            cur.execute(schema.full_sql(schema.CURRENT))
        else:
            cur.execute("SELECT max(version) FROM schema_version")
            version = cur.fetchone()[0]
            for step in range(version + 1, schema.CURRENT + 1):
                cur.execute(schema.upgrade_sql(step))
        cur.execute("SELECT count(*) FROM users")
        if cur.fetchone()[0]:
            raise SystemExit("the database already holds accounts; give the bench an empty one")
    start = time.perf_counter()
    with conn, conn.cursor() as cur:
        cur.execute(FILL, dict(
            n=n, first=FIRST, nfirst=len(FIRST), last=LAST, nlast=len(LAST), cities=CITIES,
            ncities=len(CITIES), states=STATES, nstates=len(STATES), companies=COMPANIES,
            ncompanies=len(COMPANIES),
        ))
        # A few hundred online users for the "online only" search.
        cur.execute(
            "INSERT INTO online_users (uin, ip, port, protocol, status)"
            " SELECT uin, '127.0.0.1', 4000, 5, CASE WHEN uin % 2 = 0 THEN 0 ELSE 256 END"
            " FROM users WHERE uin % 100 = 0"
        )
    fill = time.perf_counter() - start
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE users")
        cur.execute("VACUUM ANALYZE online_users")
    conn.autocommit = False
    return fill


def clean(conn):
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM online_users")
        cur.execute("DELETE FROM users")


def measure(conn, query, runs):
    text, params = search_sql(query, LIMIT + 1)
    times = []
    with conn.cursor() as cur:
        for _ in range(runs + 3):
            start = time.perf_counter()
            cur.execute(text, params)
            rows = cur.fetchall()
            times.append(time.perf_counter() - start)
        conn.rollback()
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) " + text, params)
        plan = [r[0] for r in cur.fetchall()]
        conn.rollback()
    times = sorted(times[3:])  # the first runs warm the caches
    return len(rows), times, plan


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--dsn", help="an empty iserverd database to fill (default: embedded)")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--no-plans", dest="plans", action="store_false", help="leave out the plans")
    args = parser.parse_args()

    stop = None
    dsn = args.dsn
    if dsn is None:
        dsn, stop = embedded()
    conn = psycopg2.connect(dsn)
    try:
        fill = prepare(conn, args.users)
        print("filled %d users in %.1f s; %d runs per search, %d results at most (fetching %d)"
              % (args.users, fill, args.runs, LIMIT, LIMIT + 1))
        print()
        print("%-46s %5s %8s %8s %8s %8s  %s"
              % ("search", "rows", "median", "p95", "max", "in PG", "access paths"))
        worst = 0.0
        plans = []
        for label, query in SEARCHES:
            count, times, plan = measure(conn, query, args.runs)
            median = statistics.median(times) * 1000
            p95 = times[int(0.95 * (len(times) - 1))] * 1000
            worst = max(worst, p95)
            executed = [line for line in plan if line.startswith("Execution Time")]
            in_pg = float(executed[0].split(":")[1].split()[0]) if executed else float("nan")
            access = ", ".join(sorted({
                line.strip().lstrip("-> ").split("  ")[0].split(" (")[0]
                for line in plan if " on users" in line or " on online_users" in line
            }))
            print("%-46s %5d %6.2fms %6.2fms %6.2fms %6.2fms  %s"
                  % (label, count, median, p95, times[-1] * 1000, in_pg, access))
            plans.append((label, plan))
        print()
        print("slowest 95th percentile: %.2f ms" % (worst,))
        if args.plans:
            for label, plan in plans:
                print()
                print("== %s" % (label,))
                print("\n".join("   " + line for line in plan))
        clean(conn)
    finally:
        conn.close()
        if stop is not None:
            stop()


if __name__ == "__main__":
    main()
