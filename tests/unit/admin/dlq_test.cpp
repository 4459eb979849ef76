// admin/dlq.hpp: sluice-admin dlq's command line (what it accepts, the one line it says when it
// refuses) and what it prints for a dead letter.
#include "admin/dlq.hpp"

#include "config/command_line.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

using sluice::admin::dlq_action;
using sluice::admin::parse_admin_command_line;

sluice::admin::admin_command_line parse(std::initializer_list<const char*> args) {
    std::vector<const char*> argv{"sluice-admin"};
    argv.insert(argv.end(), args);
    return parse_admin_command_line(static_cast<int>(argv.size()), argv.data());
}

std::string refusal(std::initializer_list<const char*> args) {
    try {
        parse(args);
    } catch (const sluice::config::usage_error& e) {
        return e.what();
    }
    return "(accepted)";
}

TEST(AdminCommandLine, ListWithShardAndLimit) {
    const auto c = parse({"--config", "sluice.toml", "dlq", "list", "--shard=3", "--limit", "20"});
    EXPECT_EQ(c.config_file, "sluice.toml");
    EXPECT_EQ(c.dlq.action, dlq_action::list);
    EXPECT_EQ(c.dlq.shard, 3u);
    EXPECT_EQ(c.dlq.limit, 20u);
    EXPECT_FALSE(c.dlq.dry_run);
}

TEST(AdminCommandLine, ListDefaults) {
    const auto c = parse({"dlq", "list"});
    EXPECT_FALSE(c.config_file);
    EXPECT_FALSE(c.dlq.shard);
    EXPECT_EQ(c.dlq.limit, 100u);
}

TEST(AdminCommandLine, ReplayReferencesOrAll) {
    auto c = parse({"dlq", "replay", "7-0123456789abcdef0123456789abcdef", "3/1-0", "--dry-run"});
    EXPECT_EQ(c.dlq.action, dlq_action::replay);
    EXPECT_EQ(c.dlq.references, (std::vector<std::string>{"7-0123456789abcdef0123456789abcdef", "3/1-0"}));
    EXPECT_TRUE(c.dlq.dry_run);
    EXPECT_FALSE(c.dlq.all);
    c = parse({"--all", "dlq", "purge", "--shard", "0"});
    EXPECT_EQ(c.dlq.action, dlq_action::purge);
    EXPECT_TRUE(c.dlq.all);
    EXPECT_EQ(c.dlq.shard, 0u);
    EXPECT_TRUE(c.dlq.references.empty());
}

TEST(AdminCommandLine, HelpAnywhereSkipsTheRest) {
    EXPECT_TRUE(parse({"--help"}).help);
    EXPECT_TRUE(parse({"dlq", "-h"}).help);
    EXPECT_NE(sluice::admin::admin_usage("sluice-admin").find("dlq replay"), std::string::npos);
}

TEST(AdminCommandLine, RefusalsSayWhatIsWrong) {
    EXPECT_EQ(refusal({}), "missing command: dlq or finalise (try --help)");
    EXPECT_EQ(refusal({"queue"}), "unknown command \"queue\" (try --help)");
    EXPECT_EQ(refusal({"dlq"}), "dlq needs one of list, show, replay, purge");
    EXPECT_EQ(refusal({"dlq", "drop"}), "unknown dlq command \"drop\": expected list, show, replay or purge");
    EXPECT_EQ(refusal({"dlq", "list", "--verbose"}), "unknown option --verbose");
    EXPECT_EQ(refusal({"dlq", "list", "--shard"}), "--shard needs a value");
    EXPECT_EQ(refusal({"dlq", "list", "--shard", "1", "--shard", "2"}), "--shard is given twice");
    EXPECT_EQ(refusal({"dlq", "list", "--shard", "x"}), "--shard \"x\": expected a whole number from 0 to 16383");
    EXPECT_EQ(refusal({"dlq", "list", "--limit", "0"}), "--limit \"0\": expected a whole number from 1 to 1000000");
    EXPECT_EQ(refusal({"dlq", "list", "1/1-0"}), "dlq list takes no references (use dlq show)");
    EXPECT_EQ(refusal({"dlq", "list", "--dry-run"}), "dlq list takes only --shard and --limit");
    EXPECT_EQ(refusal({"dlq", "show"}), "dlq show needs a reference: a submission id or SHARD/ID");
    EXPECT_EQ(refusal({"dlq", "show", "1/1-0", "--all"}), "dlq show takes only references");
    EXPECT_EQ(refusal({"dlq", "replay"}), "dlq replay needs either references or --all (not both)");
    EXPECT_EQ(refusal({"dlq", "purge", "1/1-0", "--all"}), "dlq purge needs either references or --all (not both)");
    EXPECT_EQ(refusal({"dlq", "replay", "1/1-0", "--shard", "1"}),
              "--shard goes with --all (a reference names its shard)");
    EXPECT_EQ(refusal({"dlq", "replay", "--all", "--limit", "5"}), "dlq replay takes no --limit");
    EXPECT_EQ(refusal({"dlq", "replay", "--all", "--dry-run=yes"}), "--dry-run takes no value");
}

sluice::queue::dead_letter sample() {
    sluice::queue::dead_letter d;
    d.shard = 7;
    d.dead_letter_id = "1711929492345-0";
    d.submission_id = "7-0123456789abcdef0123456789abcdef";
    d.practice = "A81001";
    d.attempts = "5";
    d.failed_at = "2025-04-01T00:00:00.000Z";
    d.reason = "invalid submission: /period: unknown period\n2024-25";
    d.body = "{\"practice\":\"A81001\"}";
    return d;
}

TEST(AdminOutput, ListLineIsOneLineWithTheReference) {
    const auto line = sluice::admin::list_line(sample());
    EXPECT_EQ(line,
              "7/1711929492345-0\t7-0123456789abcdef0123456789abcdef\tA81001\t5\t2025-04-01T00:00:00.000Z\t"
              "invalid submission: /period: unknown period 2024-25\n");
    auto long_reason = sample();
    long_reason.reason = std::string(300, 'x');
    const auto clipped = sluice::admin::list_line(long_reason);
    EXPECT_EQ(std::count(clipped.begin(), clipped.end(), '\n'), 1);
    EXPECT_NE(clipped.find(std::string(100, 'x') + "...\n"), std::string::npos);
}

TEST(AdminOutput, ShowHasEveryFieldAndTheWholeBody) {
    const auto text = sluice::admin::show_text(sample());
    for (const char* line : {"reference: 7/1711929492345-0\n", "submission_id: 7-0123456789abcdef0123456789abcdef\n",
                             "practice: A81001\n", "attempts: 5\n", "body: {\"practice\":\"A81001\"}\n"})
        EXPECT_NE(text.find(line), std::string::npos) << line;
}

TEST(AdminOutput, ReplayAndPurgeLinesSayWhatHappened) {
    using sluice::queue::replay_outcome;
    using sluice::queue::replay_result;
    const auto d = sample();
    const std::string who = "7/1711929492345-0 (submission 7-0123456789abcdef0123456789abcdef): ";
    EXPECT_EQ(sluice::admin::replay_line(d, replay_result{replay_outcome::requeued, "9-0", ""}, false),
              who + "requeued as queue entry 9-0\n");
    EXPECT_EQ(sluice::admin::replay_line(d, replay_result{replay_outcome::requeued, "", ""}, true),
              who + "would be requeued\n");
    EXPECT_EQ(sluice::admin::replay_line(d, replay_result{replay_outcome::already_calculated, "", ""}, false),
              who + "not replayed: the submission was calculated meanwhile; purge the dead letter\n");
    EXPECT_EQ(sluice::admin::replay_line(d, replay_result{replay_outcome::not_failed, "", "queued"}, false),
              who + "not replayed: the submission is queued already (replayed before)\n");
    EXPECT_EQ(sluice::admin::purge_line(d, true, false), who + "purged\n");
    EXPECT_EQ(sluice::admin::purge_line(d, true, true), who + "would be purged\n");
    EXPECT_EQ(sluice::admin::purge_line(d, false, false), who + "not found (purged or replayed meanwhile)\n");
}

}  // namespace
