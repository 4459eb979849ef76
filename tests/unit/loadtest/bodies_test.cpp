// Realistic bodies (loadtest/bodies.hpp), judged by the gateway's own validator
// (queue/submission.hpp) against the shipped catalogue: every body valid, for its practice,
// deterministic in (seed, practice, n), QOF bodies shaped like a practice's year-end return, and
// the enhanced-service share honoured.
#include "loadtest/bodies.hpp"
#include "queue/submission.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace sluice::loadtest {
namespace {

const catalogue::catalogue& shipped_catalogue() {
    static const auto catalogue = catalogue::load_catalogue(SLUICE_CATALOGUE_DIR);
    return catalogue;
}

std::string practice_code(std::size_t i) {
    char code[24];
    std::snprintf(code, sizeof code, "%c%05zu", static_cast<char>('A' + i % 26), i * 7919 % 100000);
    return code;
}

queue::submission parsed(const std::string& body) {
    auto result = queue::parse_submission(body, shipped_catalogue());
    if (!result.ok()) {
        std::string faults;
        for (const auto& e : result.fault().errors) faults += e.pointer + ": " + e.detail + "; ";
        ADD_FAILURE() << result.fault().detail << faults << "\n" << body;
        return {};
    }
    return std::move(result).value();
}

TEST(loadtest_bodies, every_body_is_valid_for_its_practice_in_both_periods) {
    for (const auto* period : {"2024-25", "2023-24"}) {
        const body_generator bodies(shipped_catalogue(), {period, 0.2, 42});
        const auto* catalogue = shipped_catalogue().period(period);
        ASSERT_NE(catalogue, nullptr);
        for (std::size_t i = 0; i < 300; ++i) {
            const auto practice = practice_code(i);
            for (std::uint64_t n = 0; n < 3; ++n) {
                const auto body = bodies.body(practice, n);
                const auto submission = parsed(body);
                if (::testing::Test::HasFailure()) return;
                EXPECT_EQ(submission.practice, practice);
                EXPECT_EQ(submission.period, period);
                EXPECT_EQ(submission.is_qof(), !bodies.is_enhanced_service(practice, n));
                EXPECT_GE(submission.list_size, 2000u);
                EXPECT_LE(submission.list_size, 25000u);
            }
        }
    }
}

TEST(loadtest_bodies, qof_bodies_look_like_a_year_end_return) {
    const body_generator bodies(shipped_catalogue(), {"2024-25", 0.0, 3});
    const auto& period = *shipped_catalogue().period("2024-25");
    std::size_t with_pca = 0, percentage_items = 0, items = 0;
    for (std::size_t i = 0; i < 100; ++i) {
        const auto submission = parsed(bodies.body(practice_code(i), 0));
        ASSERT_TRUE(submission.is_qof());
        EXPECT_GT(submission.qof_items.size(), period.qof_indicators().size() / 2) << "a realistic subset";
        EXPECT_LE(submission.qof_items.size(), period.qof_indicators().size());
        std::map<std::string, std::uint64_t> registers;
        for (const auto& r : submission.registers) registers[r.condition] = r.size;
        for (const auto& item : submission.qof_items) {
            ++items;
            const auto* indicator = period.qof_indicator(item.code);
            ASSERT_NE(indicator, nullptr);
            EXPECT_LE(item.numerator, item.denominator);
            switch (indicator->kind) {
            case catalogue::indicator_kind::disease_register:
                ASSERT_TRUE(registers.contains(indicator->group)) << item.code << ": its register is in the body";
                EXPECT_EQ(item.denominator, registers[indicator->group]);
                break;
            case catalogue::indicator_kind::yes_no: EXPECT_EQ(item.denominator, 1u); break;
            case catalogue::indicator_kind::percentage:
                ++percentage_items;
                if (item.pca) ++with_pca;
                if (registers.contains(indicator->group)) {
                    EXPECT_LE(item.denominator, registers[indicator->group]);
                }
                break;
            }
        }
        for (const auto& [condition, size] : registers) {
            EXPECT_GE(size, 1u) << condition;
            EXPECT_LT(size, submission.list_size) << condition;
        }
    }
    EXPECT_GT(with_pca, percentage_items / 5) << "a pca sometimes";
    EXPECT_LT(with_pca, percentage_items / 2);
    EXPECT_GT(items, 100u * 60);
}

TEST(loadtest_bodies, a_body_is_a_function_of_seed_practice_and_n) {
    const body_generator one(shipped_catalogue(), {"2024-25", 0.1, 1});
    const body_generator same(shipped_catalogue(), {"2024-25", 0.1, 1});
    const body_generator other_seed(shipped_catalogue(), {"2024-25", 0.1, 2});
    EXPECT_EQ(one.body("A81001", 0), same.body("A81001", 0));
    EXPECT_EQ(one.body("A81001", 5), same.body("A81001", 5));
    EXPECT_NE(one.body("A81001", 0), one.body("A81001", 1));
    EXPECT_NE(one.body("A81001", 0), one.body("A81002", 0));
    EXPECT_NE(one.body("A81001", 0), other_seed.body("A81001", 0));
    // A practice keeps its list size across its submissions.
    EXPECT_EQ(parsed(one.body("A81001", 0)).list_size, parsed(one.body("A81001", 7)).list_size);
    // append_body appends.
    std::string out = "prefix:";
    one.append_body(out, "A81001", 0);
    EXPECT_EQ(out, "prefix:" + one.body("A81001", 0));
}

TEST(loadtest_bodies, the_enhanced_service_share_is_honoured) {
    const body_generator none(shipped_catalogue(), {"2024-25", 0.0, 9});
    const body_generator all(shipped_catalogue(), {"2024-25", 1.0, 9});
    const body_generator tenth(shipped_catalogue(), {"2024-25", 0.1, 9});
    std::size_t enhanced = 0;
    std::set<std::string> schemes;
    for (std::size_t i = 0; i < 2000; ++i) {
        const auto practice = practice_code(i);
        EXPECT_FALSE(none.is_enhanced_service(practice, 0));
        EXPECT_TRUE(all.is_enhanced_service(practice, 0));
        if (tenth.is_enhanced_service(practice, 0)) ++enhanced;
        if (i < 200) {
            const auto submission = parsed(all.body(practice, 0));
            EXPECT_FALSE(submission.is_qof());
            EXPECT_FALSE(submission.service_items.empty());
            EXPECT_TRUE(submission.registers.empty());
            schemes.insert(submission.scheme);
        }
    }
    EXPECT_GT(enhanced, 2000u * 5 / 100);
    EXPECT_LT(enhanced, 2000u * 15 / 100);
    EXPECT_EQ(schemes.size(), shipped_catalogue().period("2024-25")->services().size()) << "every service claimed";
}

TEST(loadtest_bodies, refuses_an_unknown_period_and_a_share_outside_0_to_1) {
    EXPECT_THROW(body_generator(shipped_catalogue(), {"2019-20", 0.1, 1}), std::invalid_argument);
    EXPECT_THROW(body_generator(shipped_catalogue(), {"2024-25", 1.5, 1}), std::invalid_argument);
    EXPECT_THROW(body_generator(shipped_catalogue(), {"2024-25", -0.1, 1}), std::invalid_argument);
    // A period without enhanced services: QOF only.
    const body_generator qof_only(shipped_catalogue(), {"2023-24", 1.0, 1});
    EXPECT_EQ(qof_only.has_enhanced_services(), !shipped_catalogue().period("2023-24")->services().empty());
    try {
        body_generator(shipped_catalogue(), {"2019-20", 0.1, 1});
    } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find("2024-25"), std::string::npos) << "names the periods it knows";
    }
}

}  // namespace
}  // namespace sluice::loadtest
