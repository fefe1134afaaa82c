//! 门牌: house numbers along a road (地名管理条例 art. 21; GB/T 23705 门牌 numbering practice).
//!
//! From the road's start, odd numbers on the left and even on the right, increasing with the
//! distance; a door between two numbered doors takes the next free number of its side when one
//! lies between them, else a sub-number of the door before it (12-1, 12-2 …).

use super::refusal::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Odd numbers.
    Left,
    /// Even numbers.
    Right,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "LEFT",
            Side::Right => "RIGHT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "LEFT" => Some(Side::Left),
            "RIGHT" => Some(Side::Right),
            _ => None,
        }
    }

    /// The first number of the side: 1 or 2.
    pub fn first(self) -> i32 {
        match self {
            Side::Left => 1,
            Side::Right => 2,
        }
    }
}

/// A numbered door of one side of a road.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Door {
    pub number: i32,
    /// 0 for a main number.
    pub sub: i32,
    pub position_m: i64,
}

/// Allocates the number of a new door at `position_m` on `side`, given the side's doors.
/// Returns (number, sub-number).
pub fn allocate(side: Side, doors: &[Door], position_m: i64) -> Result<(i32, i32), Refusal> {
    let mut doors: Vec<Door> = doors.to_vec();
    doors.sort_by_key(|d| (d.number, d.sub));
    // The door before (at or before the position) and the one after, in number order, which is
    // also position order.
    let pred = doors
        .iter()
        .rev()
        .find(|d| d.position_m <= position_m)
        .copied();
    let succ = doors.iter().find(|d| d.position_m > position_m).copied();
    if let (Some(p), Some(s)) = (pred, succ)
        && (s.number, s.sub) < (p.number, p.sub)
    {
        // Doors out of order: no number keeps the order.
        return Err(Refusal::NoNumberSlot { position_m });
    }
    let candidate = pred.map_or(side.first(), |p| p.number + 2);
    if succ.is_none_or(|s| candidate < s.number) {
        return Ok((candidate, 0));
    }
    match (pred, succ) {
        // The next door is a sub-number of the same main number: nothing fits between.
        (Some(p), Some(s)) if s.number == p.number => Err(Refusal::NoNumberSlot { position_m }),
        (Some(p), _) => Ok((p.number, p.sub + 1)),
        (None, _) => Err(Refusal::NoNumberSlot { position_m }),
    }
}

/// Checks a requested number (12, or 12-1 with `sub`) for a new door at `position_m` on
/// `side`, given all the doors of the road: refused when it is taken, on the wrong side (odd
/// numbers left, even right), or would not keep the numbers increasing from the road's start
/// (the door before must carry a lower number, the door after a higher one). A sub-number
/// needs its main number on the road.
pub fn request(
    side: Side,
    road_doors: &[(Side, Door)],
    position_m: i64,
    number: i32,
    sub: i32,
) -> Result<(i32, i32), Refusal> {
    let wanted = label(number, sub);
    if road_doors
        .iter()
        .any(|(_, d)| d.number == number && d.sub == sub)
    {
        return Err(Refusal::NumberTaken(wanted));
    }
    let belongs = if number % 2 == 1 {
        Side::Left
    } else {
        Side::Right
    };
    if belongs != side {
        return Err(Refusal::NumberWrongSide {
            number,
            belongs: belongs.as_str(),
        });
    }
    let doors = road_doors
        .iter()
        .filter(|(s, _)| *s == side)
        .map(|(_, d)| d);
    let out_of_order = |neighbour: &Door| Refusal::NumberOutOfOrder {
        label: wanted.clone(),
        position_m,
        neighbour: format!(
            "{} is at {} m",
            label(neighbour.number, neighbour.sub),
            neighbour.position_m
        ),
    };
    for d in doors.clone() {
        let before = d.position_m <= position_m;
        if before != ((d.number, d.sub) < (number, sub)) {
            return Err(out_of_order(d));
        }
    }
    if sub > 0 && !doors.clone().any(|d| d.number == number && d.sub == 0) {
        return Err(Refusal::NumberOutOfOrder {
            label: wanted.clone(),
            position_m,
            neighbour: format!("{} is not given", label(number, 0)),
        });
    }
    Ok((number, sub))
}

/// The plate text: "12号" or "12-1号".
pub fn label(number: i32, sub: i32) -> String {
    if sub == 0 {
        format!("{number}号")
    } else {
        format!("{number}-{sub}号")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Allocates doors one by one as the service does, keeping the allocated ones.
    fn allocate_all(side: Side, positions: &[i64]) -> Vec<Door> {
        let mut doors = Vec::new();
        for &position_m in positions {
            let (number, sub) = allocate(side, &doors, position_m).expect("slot");
            doors.push(Door {
                number,
                sub,
                position_m,
            });
        }
        doors
    }

    fn labels(doors: &[Door]) -> Vec<String> {
        doors.iter().map(|d| label(d.number, d.sub)).collect()
    }

    #[test]
    fn the_left_side_is_odd_and_the_right_even_from_the_road_start() {
        assert_eq!(
            labels(&allocate_all(Side::Left, &[10, 20, 30])),
            ["1号", "3号", "5号"]
        );
        assert_eq!(
            labels(&allocate_all(Side::Right, &[15, 25])),
            ["2号", "4号"]
        );
    }

    #[test]
    fn numbers_increase_with_the_distance_from_the_start() {
        let doors = allocate_all(Side::Left, &[10, 50, 30]);
        // 30 m lies between 1 (10 m) and 3 (50 m) with no free odd number: 1-1.
        assert_eq!(labels(&doors), ["1号", "3号", "1-1号"]);
        let mut by_position = doors.clone();
        by_position.sort_by_key(|d| d.position_m);
        let mut by_number = doors;
        by_number.sort_by_key(|d| (d.number, d.sub));
        assert_eq!(by_position, by_number);
    }

    #[test]
    fn a_free_number_between_two_doors_is_used_before_a_sub_number() {
        let doors = [
            Door {
                number: 1,
                sub: 0,
                position_m: 10,
            },
            Door {
                number: 7,
                sub: 0,
                position_m: 70,
            },
        ];
        assert_eq!(allocate(Side::Left, &doors, 30), Ok((3, 0)));
    }

    #[test]
    fn infill_takes_successive_sub_numbers_of_the_door_before() {
        let doors = allocate_all(Side::Right, &[10, 20, 12, 14, 16]);
        assert_eq!(labels(&doors), ["2号", "4号", "2-1号", "2-2号", "2-3号"]);
    }

    #[test]
    fn no_number_fits_between_a_door_and_its_own_sub_number() {
        let doors = allocate_all(Side::Right, &[10, 20, 15]);
        assert_eq!(
            allocate(Side::Right, &doors, 12),
            Err(Refusal::NoNumberSlot { position_m: 12 })
        );
    }

    #[test]
    fn no_number_fits_before_the_first_number_of_the_side() {
        let doors = allocate_all(Side::Left, &[10]);
        assert_eq!(
            allocate(Side::Left, &doors, 5),
            Err(Refusal::NoNumberSlot { position_m: 5 })
        );
        let doors = [Door {
            number: 5,
            sub: 0,
            position_m: 10,
        }];
        assert_eq!(allocate(Side::Left, &doors, 5), Ok((1, 0)));
    }

    fn road(doors: &[(Side, i32, i32, i64)]) -> Vec<(Side, Door)> {
        doors
            .iter()
            .map(|&(side, number, sub, position_m)| {
                (
                    side,
                    Door {
                        number,
                        sub,
                        position_m,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_requested_number_is_given_when_free_on_its_side_and_in_order() {
        let doors = road(&[(Side::Left, 1, 0, 10), (Side::Left, 9, 0, 90)]);
        assert_eq!(request(Side::Left, &doors, 50, 5, 0), Ok((5, 0)));
        assert_eq!(request(Side::Left, &doors, 12, 1, 1), Ok((1, 1)));
        assert_eq!(request(Side::Right, &doors, 5, 8, 0), Ok((8, 0)));
    }

    #[test]
    fn a_requested_number_that_is_taken_is_refused() {
        let doors = road(&[(Side::Left, 1, 0, 10), (Side::Left, 1, 1, 15)]);
        assert_eq!(
            request(Side::Left, &doors, 20, 1, 1),
            Err(Refusal::NumberTaken("1-1号".into()))
        );
    }

    #[test]
    fn a_requested_number_on_the_wrong_side_is_refused_odd_left_even_right() {
        assert_eq!(
            request(Side::Right, &[], 10, 7, 0),
            Err(Refusal::NumberWrongSide {
                number: 7,
                belongs: "LEFT"
            })
        );
        assert_eq!(
            request(Side::Left, &[], 10, 8, 0).map_err(|r| r.reason()),
            Err("PLACENAME_NUMBER_WRONG_SIDE")
        );
    }

    #[test]
    fn a_requested_number_out_of_order_is_refused() {
        let doors = road(&[(Side::Left, 5, 0, 50)]);
        assert_eq!(
            request(Side::Left, &doors, 60, 3, 0).map_err(|r| r.reason()),
            Err("PLACENAME_NUMBER_OUT_OF_ORDER")
        );
        assert_eq!(
            request(Side::Left, &doors, 40, 7, 0).map_err(|r| r.reason()),
            Err("PLACENAME_NUMBER_OUT_OF_ORDER")
        );
        assert_eq!(
            request(Side::Left, &doors, 60, 3, 1).map_err(|r| r.reason()),
            Err("PLACENAME_NUMBER_OUT_OF_ORDER"),
            "3-1 needs 3"
        );
    }

    #[test]
    fn allocation_never_gives_a_number_twice() {
        let positions: Vec<i64> = (0..200).map(|i| (i * 37 % 101) * 10 + i % 7).collect();
        let mut doors = Vec::new();
        for p in positions {
            if let Ok((number, sub)) = allocate(Side::Left, &doors, p) {
                assert!(
                    !doors
                        .iter()
                        .any(|d: &Door| d.number == number && d.sub == sub)
                );
                assert_eq!(number % 2, 1);
                doors.push(Door {
                    number,
                    sub,
                    position_m: p,
                });
            }
        }
        assert!(doors.len() >= 25, "only {} doors placed", doors.len());
        let mut by_number = doors.clone();
        by_number.sort_by_key(|d| (d.number, d.sub));
        assert!(
            by_number
                .windows(2)
                .all(|w| w[0].position_m <= w[1].position_m),
            "order kept"
        );
    }
}
